"""Object-store failures turned into Consist errors that name the address and the fix.

Driver exceptions (botocore, aiohttp, s3fs) never reach users. Messages carry the address
with any ``user:password@`` part removed, and never the text of a credential: the store's
own message is included only for failures that are not about credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from consist.core.errors import (
    ConsistError,
    IntegrityError,
    ObjectNotFoundError,
    ObjectStoreAccessError,
    ObjectStoreError,
    redact,
)

_CREDENTIAL_PROBLEMS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AccessDenied",
)
_FIX_CREDENTIALS = (
    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment, or "
    "give them per mount: mounts={'name': {'url': 's3://bucket/prefix', 'storage_options': "
    "{'key': ..., 'secret': ...}}}."
)


def _is_credentials(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return isinstance(exc, PermissionError) or any(p in text for p in _CREDENTIAL_PROBLEMS)


def _is_missing_bucket(exc: BaseException) -> bool:
    return "NoSuchBucket" in f"{type(exc).__name__} {exc}" or "bucket does not exist" in str(exc)


def mismatch(url: str, expected: str, found: str) -> IntegrityError:
    """The error for bytes on the store that differ from what was recorded."""
    return IntegrityError(
        f"{redact(url)} does not match its recorded digest (recorded {expected}, found "
        f"{found}): the object was changed after it was recorded. Re-run the step that "
        "produced it, or restore the original object."
    )


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Re-raise store failures while working on ``url`` as :class:`ObjectStoreError`\\ s.

    ``FileNotFoundError`` for a missing *object* passes through unchanged (callers ask
    "is it there?" with it); a missing *bucket* becomes :class:`ObjectNotFoundError` with
    advice, since no object can be there either.
    """
    where = redact(url)
    try:
        yield
    except ConsistError:
        raise
    except FileNotFoundError as exc:
        if _is_missing_bucket(exc):
            raise ObjectNotFoundError(
                f"the bucket of {where} does not exist (or this account cannot see it); "
                "check the bucket name in the mount or URL, or create the bucket."
            ) from None
        raise
    except (IsADirectoryError, NotADirectoryError, FileExistsError):
        raise
    except Exception as exc:
        if _is_credentials(exc):
            # The store's message is left out on purpose: some echo the key id back.
            raise ObjectStoreAccessError(
                f"the object store refused access to {where} ({type(exc).__name__}): the "
                f"credentials are missing, wrong, or lack permission. {_FIX_CREDENTIALS}"
            ) from None
        if _is_missing_bucket(exc):
            raise ObjectNotFoundError(
                f"the bucket of {where} does not exist; check the bucket name in the mount "
                "or URL, or create the bucket."
            ) from None
        raise ObjectStoreError(
            f"the object store failed on {where}: {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}. Check the endpoint (storage_options={{'endpoint_url': "
            "...} or AWS_ENDPOINT_URL) and the network, then retry."
        ) from None
