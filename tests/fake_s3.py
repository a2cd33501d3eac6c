"""A fake S3 on loopback: moto's server mode speaks the real S3 wire protocol (SigV4,
presigned URLs, private objects), so :class:`core.storage.S3Storage` is tested through boto3
over HTTP, as against MinIO or AWS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ACCESS_KEY, SECRET_KEY, REGION = "tandem-test", "tandem-test-secret", "us-east-1"


@contextmanager
def fake_s3() -> Iterator[dict[str, Any]]:
    """A running fake S3 with one fresh private bucket: its ``TANDEM_*`` configuration."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = f"tandem-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                     aws_access_key_id=ACCESS_KEY,
                     aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=bucket)
        yield {"TANDEM_STORAGE": "s3", "TANDEM_S3_BUCKET": bucket,
               "TANDEM_S3_ENDPOINT_URL": endpoint, "TANDEM_S3_REGION": REGION,
               "TANDEM_S3_ACCESS_KEY": ACCESS_KEY, "TANDEM_S3_SECRET_KEY": SECRET_KEY}
    finally:
        server.stop()
