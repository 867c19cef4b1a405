"""An S3 filesystem that keeps its retry budget when pickled to another process.

Ray Train pickles the checkpoint filesystem of `RunConfig` to its controller and workers, and
pyarrow's `S3FileSystem` pickles without its retry strategy: there it retries three times within a
few milliseconds, so a store that restarts (15-20 s) failed Ray Train's own checkpoint calls while
ours rode it out. This handler pickles the settings alone and builds the retrying filesystem
(`storage.filesystem`) again wherever it is unpickled; every call is passed through unchanged.
"""
from __future__ import annotations

import pyarrow.fs as pafs

from pipelines.data import storage


class _RetryingS3(pafs.FileSystemHandler):
    def __init__(self, settings: storage.S3Settings):
        self.settings = settings
        self.fs, _ = storage.filesystem("s3://bucket", settings)

    def __reduce__(self):
        return _RetryingS3, (self.settings,)

    def __eq__(self, other) -> bool:
        return isinstance(other, _RetryingS3) and other.settings == self.settings

    def __ne__(self, other) -> bool:
        return not self == other

    def get_type_name(self) -> str:
        return "s3-retrying"

    def normalize_path(self, path):
        return self.fs.normalize_path(path)

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        self.fs.delete_dir_contents("/", accept_root_dir=True)

    def delete_file(self, path):
        self.fs.delete_file(path)

    def move(self, src, dest):
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path):
        return self.fs.open_input_stream(path)

    def open_input_file(self, path):
        return self.fs.open_input_file(path)

    def open_output_stream(self, path, metadata):
        return self.fs.open_output_stream(path, metadata=metadata)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path, metadata=metadata)


def shipped_filesystem(uri: str, settings: storage.S3Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """`storage.filesystem`, for a filesystem that is pickled to other processes (Ray Train's)."""
    fs, path = storage.filesystem(uri, settings)
    if not storage.is_s3(uri):
        return fs, path
    return pafs.PyFileSystem(_RetryingS3(settings or storage.S3Settings.from_env())), path
