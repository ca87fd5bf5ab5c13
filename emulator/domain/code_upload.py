"""A ``Code`` (function) or ``Content`` (layer) value of the Lambda API, made a folder.

Either a zip (``ZipFile``, base64 in the API's JSON), unpacked once per content under a folder of
the state directory (:func:`store_zip`: entry by entry, refusing what would leave the folder, at
most 250 MB unzipped; see :mod:`.code_folders`), or the ``hot-reload`` bucket convention
(``{"S3Bucket": "hot-reload", "S3Key": "/abs/folder"}``, LocalStack's:
https://docs.localstack.cloud/user-guide/lambda-tools/hot-reloading): that folder itself, which
must be inside the project's folders (:func:`hot_reload_folder`). Blocking: callers run these in
a thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import shutil
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator.domain.code_folders import extract_zip, inside_roots
from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.functions import folder_digest

HOT_RELOAD_BUCKET = "hot-reload"
#: a zip upload's limit (the API's 50 MB direct upload)
MAX_ZIP_BYTES = 50 * 1024 * 1024
#: code made a folder: the folder, CodeSha256, size, and whether it is a hot-reload folder
StagedCode = tuple[Path, str, int, bool]


def hot_reload_folder(key: Any, roots: tuple[Path, ...], field: str) -> Path:
    """The folder ``S3Key`` names in the hot-reload convention: absolute, existing, inside ``roots``."""
    where = f'{field}.S3Key'
    if not isinstance(key, str) or not key:
        raise InvalidParameterValueException(
            f'{where} must be the absolute path of a local folder when {field}.S3Bucket is "{HOT_RELOAD_BUCKET}"')
    folder = Path(key).expanduser()
    if not folder.is_absolute():
        raise InvalidParameterValueException(
            f'{where} must be an absolute folder path when {field}.S3Bucket is "{HOT_RELOAD_BUCKET}", '
            f"not {key!r} (the control plane does not know your working directory)")
    if not folder.is_dir():
        raise InvalidParameterValueException(
            f'{where} {key!r} (bucket "{HOT_RELOAD_BUCKET}") is not a folder the control plane can see')
    if not inside_roots(folder, roots):
        allowed = ", ".join(str(root) for root in roots)
        raise InvalidParameterValueException(
            f'{where} {key!r} (bucket "{HOT_RELOAD_BUCKET}") is outside the project: a code folder must '
            f"be under {allowed} (to allow another folder, add it to CLOUDMICRO_CODE_ROOTS)")
    return folder.resolve()


def zip_bytes(code: Any, field: str) -> bytes:
    """The zip of a ``ZipFile`` value (base64), or InvalidParameterValueException."""
    if not isinstance(code, Mapping) or "ZipFile" not in code:
        raise InvalidParameterValueException(
            f'{field}.ZipFile is required locally (or S3Bucket "{HOT_RELOAD_BUCKET}" with S3Key the absolute '
            "path of a local folder; other S3 locations and ImageUri are not supported yet)")
    try:
        data = base64.b64decode(code["ZipFile"], validate=True)
    except (binascii.Error, TypeError):
        raise InvalidParameterValueException(f"{field}.ZipFile must be base64-encoded zip content") from None
    if len(data) > MAX_ZIP_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_ZIP_BYTES} bytes")
    return data


def store_zip(root: Path, data: bytes) -> tuple[Path, str, int]:
    """``data`` unpacked under ``root/<hash>/`` (once per content), its CodeSha256 and size."""
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    target = root / hashlib.sha256(data).hexdigest()[:16]
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                extract_zip(archive, tmp)  # refuses what would leave the folder; streams; 250 MB
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InvalidParameterValueException(
                f"Could not unzip uploaded file. Please check your file, then try to upload again. ({exc})"
            ) from None
        try:
            tmp.rename(target)
        except OSError:  # another upload of the same zip made it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    return target.resolve(), sha, len(data)


def stage(code: Any, root: Path, roots: tuple[Path, ...], field: str) -> StagedCode:
    """Where a ``Code``/``Content`` value's files are, their CodeSha256 and size, and whether it
    is a hot-reload folder (else a zip, unpacked under ``root``)."""
    if isinstance(code, Mapping) and code.get("S3Bucket") == HOT_RELOAD_BUCKET:
        folder = hot_reload_folder(code.get("S3Key"), roots, field)
        sha, size = folder_digest(folder)
        return folder, sha, size, True
    folder, sha, size = store_zip(root, zip_bytes(code, field))
    return folder, sha, size, False
