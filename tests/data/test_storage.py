"""Storage settings from the AWS variables, URI helpers, and reads from a real S3 store."""

from __future__ import annotations

import pytest

from pipelines.data import storage
from pipelines.data.storage import S3Settings

ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
       "AWS_SESSION_TOKEN": "t0ken-value", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
       "AWS_DEFAULT_REGION": "eu-west-3"}


def test_settings_from_standard_variables():
    settings = S3Settings.from_env(env=ENV)
    assert settings.endpoint_url == "http://127.0.0.1:9" and settings.region == "eu-west-3"
    assert settings.access_key == "AKIDEXAMPLE" and settings.secret_key == "s3cr3t-value"
    assert S3Settings.from_env(env={**ENV, "AWS_REGION": "us-west-2"}).region == "us-west-2"
    assert S3Settings.from_env(env={**ENV, "AWS_ENDPOINT_URL_S3": "http://h:1"}).endpoint_url \
        == "http://h:1"
    assert S3Settings.from_env("http://override:2", env=ENV).endpoint_url == "http://override:2"
    assert S3Settings.from_env(env={}) == S3Settings()
    assert S3Settings.from_env(env=ENV).env() == {**ENV, "AWS_REGION": "eu-west-3"}


def test_secrets_never_in_repr():
    settings = S3Settings.from_env(env=ENV)
    text = repr(settings) + str(settings) + repr([settings])
    for secret in ("s3cr3t-value", "t0ken-value", "AKIDEXAMPLE"):
        assert secret not in text


def test_uri_helpers(tmp_path):
    assert storage.is_s3("s3://b/k") and not storage.is_s3("/data/s3://x")
    assert storage.split_s3("s3://bucket/a/b.mp4") == ("bucket", "a/b.mp4")
    assert storage.split_s3("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        storage.split_s3("s3:///key")
    assert storage.join("s3://b/p/", "/x/", "y.mp4") == "s3://b/p/x/y.mp4"
    assert storage.join("s3://b", "k") == "s3://b/k"
    assert storage.join(str(tmp_path), "a", "b") == str(tmp_path / "a" / "b")
    fs, path = storage.filesystem(f"file://{tmp_path}")
    assert path == str(tmp_path) and fs.type_name == "local"


def test_local_reads_and_copies(tmp_path):
    (tmp_path / "src" / "d").mkdir(parents=True)
    (tmp_path / "src" / "d" / "f.bin").write_bytes(b"abc" * 1000)
    written = storage.upload_dir(tmp_path / "src", str(tmp_path / "dst"))
    assert written == [str(tmp_path / "dst" / "d" / "f.bin")]
    assert storage.read_bytes(written[0]) == b"abc" * 1000
    assert storage.copy_to_file(written[0], tmp_path / "copy", block_bytes=7) == 3000
    assert (tmp_path / "copy").read_bytes() == b"abc" * 1000


@pytest.mark.slow
def test_s3_round_trip(tmp_path, s3_server, s3_bucket):
    settings = s3_server.settings()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "v.mp4").write_bytes(bytes(range(256)) * 100)
    (written,) = storage.upload_dir(tmp_path, storage.join(s3_bucket, "pre"), settings)
    assert written == f"{s3_bucket}/pre/a/v.mp4"
    assert storage.read_bytes(written, settings) == bytes(range(256)) * 100
    with storage.open_input(written, settings) as f:
        f.seek(256 * 99)
        assert f.read() == bytes(range(256))
    fs, path = storage.filesystem(written, settings)
    assert fs.get_file_info(path).size == 25600
    assert storage.copy_to_file(written, tmp_path / "c", settings, block_bytes=1000) == 25600
    assert (tmp_path / "c").read_bytes() == bytes(range(256)) * 100
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(storage.join(s3_bucket, "missing.mp4"), settings)


@pytest.mark.slow
def test_settings_from_exported_env_reach_the_server(s3_server, s3_bucket, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    bucket, _ = storage.split_s3(s3_bucket)
    storage.s3_client().put_object(Bucket=bucket, Key="k.mp4", Body=b"data")
    assert storage.read_bytes(f"{s3_bucket}/k.mp4") == b"data"
