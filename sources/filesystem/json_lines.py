"""The lines of a JSON Lines stream, each with a decoder that gives exactly what :func:`json.loads` gives.

Lines come from blocks of a bounded size; each block picks its decoder once
(:func:`sources.json_decoding.decoder_for`), so the fast one is kept for blocks without long digit runs.

>>> import pyarrow as pa
>>> stream = pa.BufferReader(b'{"id": 1}\\n{"id": 123456789012345678901234}\\n{"x": NaN}')
>>> [loads(line) for line, loads in json_lines(stream, block_size=16)]
[{'id': 1}, {'id': 123456789012345678901234}, {'x': nan}]
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from sources.json_decoding import Decoder, decoder_for


def json_lines(stream: pa.NativeFile, block_size: int) -> Iterator[tuple[bytes, Decoder]]:
    """Each line of ``stream`` without its line end, read in blocks of ``block_size`` bytes, with its decoder."""
    rest = b""
    while block := stream.read(block_size):
        data = rest + block
        lines = data.split(b"\n")
        rest = lines.pop()
        decoder = decoder_for(data)
        for line in lines:
            yield line, decoder
    if rest:
        yield rest, decoder_for(rest)
