# A pure-Python BLAKE3 (unkeyed, 32-byte output) written from the BLAKE3
# specification, standing in for the `blake3` wheel (Rust) that
# model_signing imports but that is not installed here (no PyPI access).
# It offers only what model_signing v1.1 calls: blake3.blake3(data),
# blake3(max_threads=...), .update, .update_mmap(path), .reset, .digest,
# .hexdigest, .digest_size and blake3.AUTO. Slow (pure Python): for small
# interop models only. `./blake3.py VECTORS.json` checks it against the
# official test vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json).
import struct

_IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
_PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_BLOCK, _CHUNK = 64, 1024
_M = 0xFFFFFFFF


def _g(s, a, b, c, d, x, y):
    s[a] = (s[a] + s[b] + x) & _M
    s[d] ^= s[a]; s[d] = ((s[d] >> 16) | (s[d] << 16)) & _M
    s[c] = (s[c] + s[d]) & _M
    s[b] ^= s[c]; s[b] = ((s[b] >> 12) | (s[b] << 20)) & _M
    s[a] = (s[a] + s[b] + y) & _M
    s[d] ^= s[a]; s[d] = ((s[d] >> 8) | (s[d] << 24)) & _M
    s[c] = (s[c] + s[d]) & _M
    s[b] ^= s[c]; s[b] = ((s[b] >> 7) | (s[b] << 25)) & _M


def _compress(cv, m, counter, block_len, flags):
    s = list(cv) + _IV[:4] + [counter & _M, (counter >> 32) & _M, block_len, flags]
    m = list(m)
    for r in range(7):
        _g(s, 0, 4, 8, 12, m[0], m[1]); _g(s, 1, 5, 9, 13, m[2], m[3])
        _g(s, 2, 6, 10, 14, m[4], m[5]); _g(s, 3, 7, 11, 15, m[6], m[7])
        _g(s, 0, 5, 10, 15, m[8], m[9]); _g(s, 1, 6, 11, 12, m[10], m[11])
        _g(s, 2, 7, 8, 13, m[12], m[13]); _g(s, 3, 4, 9, 14, m[14], m[15])
        if r < 6:
            m = [m[i] for i in _PERM]
    for i in range(8):
        s[i] ^= s[i + 8]
        s[i + 8] ^= cv[i]
    return s


def _words(block):
    return list(struct.unpack("<16I", block.ljust(_BLOCK, b"\0")))


class _Output:
    def __init__(self, cv, block, counter, block_len, flags):
        self.cv, self.block, self.counter, self.block_len, self.flags = cv, block, counter, block_len, flags

    def chaining_value(self):
        return _compress(self.cv, self.block, self.counter, self.block_len, self.flags)[:8]

    def root(self):
        return struct.pack("<8I", *_compress(self.cv, self.block, 0, self.block_len, self.flags | _ROOT)[:8])


class _Chunk:
    def __init__(self, counter):
        self.cv, self.counter, self.buf, self.compressed = list(_IV), counter, b"", 0

    def len(self):
        return _BLOCK * self.compressed + len(self.buf)

    def _start(self):
        return _CHUNK_START if self.compressed == 0 else 0

    def update(self, data):
        while data:
            if len(self.buf) == _BLOCK:
                self.cv = _compress(self.cv, _words(self.buf), self.counter, _BLOCK, self._start())[:8]
                self.compressed += 1
                self.buf = b""
            take = _BLOCK - len(self.buf)
            self.buf += data[:take]
            data = data[take:]

    def output(self):
        return _Output(self.cv, _words(self.buf), self.counter, len(self.buf), self._start() | _CHUNK_END)


def _parent(left, right):
    return _Output(list(_IV), left + right, 0, _BLOCK, _PARENT)


class blake3:
    AUTO = -1
    digest_size = 32

    def __init__(self, data=b"", max_threads=1):
        self.reset()
        self.update(data)

    def reset(self):
        self._chunk, self._stack = _Chunk(0), []

    def update(self, data):
        data = bytes(data)
        while data:
            if self._chunk.len() == _CHUNK:
                cv = self._chunk.output().chaining_value()
                total = self._chunk.counter + 1
                while total & 1 == 0:
                    cv = _parent(self._stack.pop(), cv).chaining_value()
                    total >>= 1
                self._stack.append(cv)
                self._chunk = _Chunk(self._chunk.counter + 1)
            take = _CHUNK - self._chunk.len()
            self._chunk.update(data[:take])
            data = data[take:]
        return self

    def update_mmap(self, path):
        with open(path, "rb") as f:
            while b := f.read(1 << 20):
                self.update(b)
        return self

    def digest(self):
        out = self._chunk.output()
        for cv in reversed(self._stack):
            out = _parent(cv, out.chaining_value())
        return out.root()

    def hexdigest(self):
        return self.digest().hex()


if __name__ == "__main__":
    import json, sys
    vectors = json.load(open(sys.argv[1]))["cases"]
    for c in vectors:
        n = c["input_len"]
        got = blake3(bytes(i % 251 for i in range(n))).hexdigest()
        assert got == c["hash"][:64], (n, got, c["hash"][:64])
    print("blake3.py: %d official test vectors pass" % len(vectors))
