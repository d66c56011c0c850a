"""Building multipart/form-data bodies by hand, with the per-part headers arize-phoenix-client sends."""

BOUNDARY = "phoenixAnnotTestBoundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def field(name: str, value: str) -> tuple[dict[str, str], bytes]:
    return {"Content-Disposition": f'form-data; name="{name}"'}, value.encode()


def file_part(
    content: bytes, *, filename: str = "dataframe.csv", content_type: str = "text/csv", **headers: str
) -> tuple[dict[str, str], bytes]:
    part_headers = {
        "Content-Disposition": f'form-data; name="file"; filename="{filename}"',
        "Content-Type": content_type,
        **{name.replace("_", "-").title(): value for name, value in headers.items()},
    }
    return part_headers, content


def multipart(*parts: tuple[dict[str, str], bytes]) -> bytes:
    body = b""
    for headers, content in parts:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        body += f"--{BOUNDARY}\r\n{head}\r\n".encode() + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()
