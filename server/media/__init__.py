"""Photos: the evidence. Upload (idempotent by id and SHA-256), checks, processing
into derivatives off the request path, access-checked reads. See docs/photos.md."""
