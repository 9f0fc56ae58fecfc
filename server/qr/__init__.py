"""QR tags: what a tag encodes, printable labels (PNG, SVG, A4 PDF sheets) and
scan resolution (``/q/{code}``). See docs/photos.md, "Labels" and "Scan resolution"."""
