#!/usr/bin/env python3
"""Archive fixtures for cribo's ArchiveReader tests, made by Python's zipfile, tarfile and gzip (stdlib only).

Regenerate (from the repo root; any Python >= 3.9, output does not depend on the version):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_archive_fixtures.py

Writes into Golden/archives/:
  python_mixed.zip     zipfile to a seekable file: a directory entry, deflated and stored members, an empty member,
                       a UTF-8 name (flag bit 11), a long name.
  python_streamed.zip  zipfile to a non-seekable stream with force_zip64=True: every member has a data descriptor
                       (sizes 0 in the local header) and ZIP64 extra fields; the stored member contains the bytes of
                       a data-descriptor signature, which a reader that scans for it would mistake for its end.
  zip64_end.zip        python_mixed's members (ZIP64 extras forced) behind a ZIP64 end-of-central-directory record
                       and locator, the classic end record holding 0xFFFF / 0xFFFFFFFF as in zips of > 65,535
                       members or > 4 GiB (COCO train2017.zip).
  python_gnu.tar       tarfile GNU format: a directory, a name over 100 bytes (././@LongLink), an empty member.
  python_pax.tar.gz    tarfile PAX format, gzip with mtime 0: a UTF-8 name, a member of 20,000 bytes.
  expected.json        "archives": for each archive its members in order (name, isDirectory, size);
                       "contents": each file member's bytes in base64, by member name.
Every archive is checked by reading it back with zipfile/tarfile before it is written.
"""
import base64
import gzip
import io
import json
import os
import random
import struct
import tarfile
import zipfile

SEED = 20240611
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "archives")
FIXED_DATE = (2017, 9, 1, 12, 0, 0)


def members():
    """(name, data or None for a directory, compress_type) in archive order."""
    rng = random.Random(SEED)
    text = "".join(f"line {i}: the quick brown fox\n" for i in range(200)).encode()
    noise = bytes(rng.getrandbits(8) for _ in range(3000))
    return [
        ("train2017/", None, zipfile.ZIP_STORED),
        ("train2017/000000000139.jpg", b"\xff\xd8\xff" + noise[:1500] + b"PK\x07\x08" + noise[1500:], zipfile.ZIP_STORED),
        ("train2017/notes.txt", text, zipfile.ZIP_DEFLATED),
        ("train2017/empty.bin", b"", zipfile.ZIP_DEFLATED),
        ("train2017/caf\u00e9 \u00fcber.txt", "na\u00efve \u00e9t\u00e9\n".encode(), zipfile.ZIP_DEFLATED),
        ("train2017/" + "long_name_" * 12 + ".bin", noise[:100], zipfile.ZIP_DEFLATED),
    ]


def zip_info(name, compress_type):
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = compress_type
    info.external_attr = (0o40755 << 16) | 0x10 if name.endswith("/") else 0o100644 << 16
    return info


def write_zip(stream, force_zip64):
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data, compress_type in members():
            info = zip_info(name, compress_type)
            if data is None:
                archive.writestr(info, b"")
            else:
                with archive.open(info, "w", force_zip64=force_zip64) as member:
                    member.write(data)


class Unseekable(io.RawIOBase):
    """A write-only stream without seek/tell, so zipfile writes data descriptors."""

    def __init__(self):
        self.buffer = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.buffer += data
        return len(data)


def zip64_end_record(data):
    """Replaces the classic end record (no comment) with ZIP64 record + locator + a classic record of 0xFF..."""
    end = data[-22:]
    signature, _, _, count, _, cd_size, cd_offset, comment = struct.unpack("<IHHHHIIH", end)
    assert signature == 0x06054B50 and comment == 0
    body = data[:-22]
    zip64_offset = len(body)
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, zip64_offset, 1)
    classic = struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + record + locator + classic


def tar_members():
    rng = random.Random(SEED + 1)
    big = bytes(rng.getrandbits(8) for _ in range(20000))
    return [
        ("devkit/", None),
        ("devkit/data/" + "meta_" * 25 + ".mat", b"MATLAB 5.0 MAT-file\n" * 10),
        ("devkit/empty.txt", b""),
        ("devkit/\u00e9t\u00e9.txt", "\u00e9t\u00e9\n".encode()),
        ("devkit/big.bin", big),
    ]


def write_tar(stream, mode, tar_format):
    with tarfile.open(fileobj=stream, mode=mode, format=tar_format) as archive:
        for name, data in tar_members():
            info = tarfile.TarInfo(name.rstrip("/") if data is None else name)
            info.mtime = 1262304000
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(data))


def listing(entries):
    return [{"name": name, "isDirectory": data is None, "size": 0 if data is None else len(data)}
            for name, data in entries]


def check_zip(data, entries):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert [i.filename for i in archive.infolist()] == [n for n, _ in entries]
        for name, content in entries:
            if content is not None:
                assert archive.read(name) == content, name


def check_tar(data, entries):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        found = [(m.name + "/" if m.isdir() else m.name, archive.extractfile(m).read() if m.isfile() else None)
                 for m in archive.getmembers()]
    assert found == entries, [n for n, _ in found]


def main():
    os.makedirs(HERE, exist_ok=True)
    zip_entries = [(name, data) for name, data, _ in members()]
    tar_entries = tar_members()
    outputs = {}

    seekable = io.BytesIO()
    write_zip(seekable, force_zip64=False)
    outputs["python_mixed.zip"] = (seekable.getvalue(), zip_entries)

    stream = Unseekable()
    write_zip(stream, force_zip64=True)
    outputs["python_streamed.zip"] = (bytes(stream.buffer), zip_entries)

    forced = io.BytesIO()
    write_zip(forced, force_zip64=True)
    outputs["zip64_end.zip"] = (zip64_end_record(forced.getvalue()), zip_entries)

    gnu = io.BytesIO()
    write_tar(gnu, "w", tarfile.GNU_FORMAT)
    outputs["python_gnu.tar"] = (gnu.getvalue(), tar_entries)

    pax = io.BytesIO()
    write_tar(pax, "w", tarfile.PAX_FORMAT)
    outputs["python_pax.tar.gz"] = (gzip.compress(pax.getvalue(), mtime=0), tar_entries)

    # The streamed zip must really have data descriptors, and its stored member must hold a descriptor signature.
    streamed = outputs["python_streamed.zip"][0]
    assert struct.unpack("<H", streamed[6:8])[0] & 0x08
    jpeg = next(d for n, d, _ in members() if n.endswith(".jpg"))
    assert b"PK\x07\x08" in jpeg
    expected = {}
    contents = {name: base64.b64encode(data).decode() for name, data in zip_entries + tar_entries if data is not None}
    for name, (data, entries) in outputs.items():
        (check_zip if name.endswith(".zip") else check_tar)(data, entries)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        expected[name] = listing(entries)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"seed": SEED, "archives": expected, "contents": contents}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
