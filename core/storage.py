"""One storage interface for uploaded files (ticket photos …): ``put`` / ``get`` /
``delete`` / ``url``. A folder under the instance by default (``TANDEM_STORAGE="local"``,
``TANDEM_STORAGE_PATH``), or an S3-compatible object store by configuration
(``TANDEM_STORAGE="s3"`` with ``TANDEM_S3_BUCKET``, ``TANDEM_S3_ENDPOINT_URL``,
``TANDEM_S3_REGION``, ``TANDEM_S3_ACCESS_KEY``, ``TANDEM_S3_SECRET_KEY``), through boto3.

Local files are served by the application after its access checks (``url`` answers None);
S3 objects are private and handed out as signed URLs valid ``TANDEM_STORAGE_URL_SECONDS``
(after the same checks). Keys start with the owning module's name (``service/…``):
:func:`store_file` stores a file for the transaction in progress (removed again if it rolls
back) and :func:`delete_module_files` removes a module's files when it is uninstalled.
``check_image`` validates an uploaded image by its content (Pillow),
bounds its size and re-encodes it without its EXIF data (no GPS position leaves with it)."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Protocol

from flask import current_app

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,250}$")
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MAX_EDGE = 2560


class StorageError(Exception):
    """The store refused or could not be reached."""


class BadImage(ValueError):
    """An upload that is not an acceptable image; the message says why (for the user)."""


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str, seconds: int = 300, filename: str | None = None) -> str | None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...


def _checked(key: str) -> str:
    if not KEY_RE.match(key) or ".." in key.split("/"):
        raise StorageError(f"invalid storage key: {key!r}")
    return key


def new_key(prefix: str, extension: str) -> str:
    """A fresh, unguessable key under ``prefix`` (e.g. ``service/tickets/12``)."""
    return _checked(f"{prefix.strip('/')}/{secrets.token_hex(16)}.{extension.lstrip('.')}")


class LocalStorage:
    """Files in a folder (by default ``<instance>/storage``), written atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"no such object: {key}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str, seconds: int = 300, filename: str | None = None) -> str | None:
        return None  # served by the application itself, after its access checks

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys under the folder ``prefix`` (``service/``)."""
        base = self._path(prefix.strip("/"))
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(self.root).as_posix()


class S3Storage:
    """A private bucket of an S3-compatible store (AWS, MinIO, Ceph, OSS/COS in S3 mode)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or "us-east-1",
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}))

    def _call(self, name: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, name)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"{name} {kwargs.get('Key', '')}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call("put_object", Key=_checked(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self._call("get_object", Key=_checked(key))["Body"].read()

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=_checked(key))

    def url(self, key: str, seconds: int = 300, filename: str | None = None) -> str | None:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": _checked(key)}
        if filename:
            params["ResponseContentDisposition"] = f'inline; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params,
                                                  ExpiresIn=int(seconds))

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys starting with ``prefix`` (``service/``)."""
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=_checked(prefix.strip("/")) + "/")
            for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"list {prefix}: {exc}") from exc


def build_storage(config: Any, instance_path: str | Path) -> Storage:
    kind = str(config.get("TANDEM_STORAGE") or "local").lower()
    if kind == "s3":
        bucket = config.get("TANDEM_S3_BUCKET")
        if not bucket:
            raise StorageError("TANDEM_STORAGE=s3 needs TANDEM_S3_BUCKET")
        return S3Storage(bucket, config.get("TANDEM_S3_ENDPOINT_URL"),
                         config.get("TANDEM_S3_REGION"), config.get("TANDEM_S3_ACCESS_KEY"),
                         config.get("TANDEM_S3_SECRET_KEY"))
    if kind != "local":
        raise StorageError(f"unknown TANDEM_STORAGE: {kind}")
    return LocalStorage(config.get("TANDEM_STORAGE_PATH") or Path(instance_path) / "storage")


def image_origin(config: Any) -> str | None:
    """The object store's origin (for the pages' ``img-src``) when it serves signed URLs."""
    from urllib.parse import urlsplit

    if str(config.get("TANDEM_STORAGE") or "local").lower() != "s3":
        return None
    endpoint = config.get("TANDEM_S3_ENDPOINT_URL")
    if not endpoint:
        region = config.get("TANDEM_S3_REGION") or "us-east-1"
        return f"https://*.s3.{region}.amazonaws.com https://s3.{region}.amazonaws.com"
    parts = urlsplit(str(endpoint))
    return f"{parts.scheme}://{parts.netloc}"


def get_storage() -> Storage:
    """The application's store (built once per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("tandem_storage")
    if store is None:
        store = build_storage(app.config, app.instance_path)
        app.extensions["tandem_storage"] = store
    return store


def store_file(key: str, data: bytes, content_type: str) -> None:
    """Store ``data`` at ``key`` for the transaction in progress: if it rolls back (or the
    nested unit of work that stored it), the file is deleted again, so no file is left
    without the row that points at it."""
    from core.services import after_rollback

    store = get_storage()
    store.put(key, data, content_type)
    after_rollback(lambda: store.delete(key))


def module_files(module: str) -> int:
    """How many stored files belong to ``module`` (its keys' first part)."""
    return sum(1 for _ in get_storage().keys(module))


def delete_module_files(module: str) -> int:
    """Delete every stored file of ``module`` (uninstall); returns how many."""
    store = get_storage()
    removed = 0
    for key in list(store.keys(module)):
        store.delete(key)
        removed += 1
    return removed


def url_seconds() -> int:
    return int(current_app.config.get("TANDEM_STORAGE_URL_SECONDS") or 300)


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def check_image(raw: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> CleanImage:
    """The upload decoded by Pillow (its content decides, not its name or declared type):
    JPEG, PNG or WebP, at most ``max_bytes`` and ``MAX_IMAGE_PIXELS``; turned upright and
    re-encoded without EXIF (GPS position, device) and shrunk to ``MAX_EDGE`` pixels."""
    import warnings

    from PIL import Image
    from PIL import ImageOps
    from PIL import UnidentifiedImageError

    if not raw:
        raise BadImage("empty")
    if len(raw) > max_bytes:
        raise BadImage("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                kind = probe.format
                if kind not in IMAGE_TYPES:
                    raise BadImage("type")
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise BadImage("too_large")
                probe.verify()
            image = Image.open(io.BytesIO(raw))
            image.load()
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("type") from exc
    image = ImageOps.exif_transpose(image) or image
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85)
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[kind]
    return CleanImage(out.getvalue(), IMAGE_TYPES[kind], ext, image.width, image.height)
