"""Object storage behind one interface: a local folder or an S3-compatible bucket.

`storage_for(settings.storage_url)` gives the store the settings name; features
never learn which one it is (except that an S3 store can hand out presigned URLs).
"""

from server.storage.base import Storage, StorageError, check_key
from server.storage.factory import storage_for

__all__ = ["Storage", "StorageError", "check_key", "storage_for"]
