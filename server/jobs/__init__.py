"""A small durable job queue in the database: enqueue in the same transaction as
the change that needs the work, claim with a lease, retry with back-off, park
what keeps failing. See docs/photos.md, "Jobs"."""
