package pytorch

import (
	"bytes"
	"io"
	"strconv"

	"github.com/modelvet/modelvet/formats"
)

// legacyMagic is torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c as the ten
// little-endian bytes of a LONG1 opcode, and as protocol 0/1 text.
var (
	legacyMagicLong = []byte("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
	legacyMagicText = []byte("L119547037146038801333356L\n")
)

// legacyProtocolVersion is torch's PROTOCOL_VERSION for this layout.
const legacyProtocolVersion = 1001

func init() {
	formats.Register(&formats.Analyzer{
		Name:       "pytorch-legacy",
		Extensions: []string{".pt", ".pth", ".bin", ".ckpt"},
		Priority:   150, // above the plain pickle reader: same first bytes
		Sniff:      sniffLegacy,
		Analyze:    analyzeLegacy,
	})
}

// sniffLegacy looks for the magic number as the first pickle's value.
func sniffLegacy(p *formats.Probe) bool {
	h := p.Head[:min(len(p.Head), 48)]
	if i := bytes.Index(h, legacyMagicLong); i >= 0 && i <= 16 && bytes.HasPrefix(h, []byte{0x80}) {
		return i+len(legacyMagicLong) < len(h) && h[i+len(legacyMagicLong)] == '.'
	}
	return bytes.HasPrefix(h, legacyMagicText) || bytes.HasPrefix(h, append([]byte("\x80\x01"), legacyMagicText...))
}

// analyzeLegacy reads torch.save(..., _use_new_zipfile_serialization=False):
// five pickles (magic, protocol version, sys_info, the object, the sorted
// storage keys) then, for each key, an 8-byte element count and the raw
// storage bytes.
func analyzeLegacy(s *formats.Scope, r io.ReaderAt, size int64) {
	st := &stream{s: s, r: r, size: size}
	if _, _, ok := st.next("magic number"); !ok {
		return
	}
	fi, _, ok := st.next("protocol version")
	if !ok {
		return
	}
	if len(fi.Ints) != 1 || fi.Ints[0] != legacyProtocolVersion {
		s.Reportf("pytorch/bad-record", formats.Medium, st.off-fi.End, "the protocol version pickle is %v, not %d; torch.load refuses other versions", fi.Ints, legacyProtocolVersion)
	}
	if _, _, ok := st.next("sys_info"); !ok {
		return
	}
	_, res, ok := st.next("main")
	if !ok {
		return
	}
	refs := map[string]storageRef{}
	if res != nil {
		for _, p := range res.PersistentIDs {
			ref, err := parseStorageRef(p)
			if err != nil {
				s.Reportf("pytorch/bad-persistent-id", formats.High, p.Offset, "in the main pickle: %v; torch.load would not load this checkpoint as written", err)
				continue
			}
			if old, dup := refs[ref.Key]; dup && (old.ElemSize != ref.ElemSize || old.Numel != ref.Numel) {
				s.Reportf("pytorch/bad-persistent-id", formats.High, p.Offset, "storage %q is declared twice with different types or sizes (%s×%d, %s×%d)", ref.Key, old.Type, old.Numel, ref.Type, ref.Numel)
			}
			refs[ref.Key] = ref
		}
	}
	keysAt := st.off
	kf, _, ok := st.next("storage keys")
	if !ok {
		return
	}
	if !kf.Simple {
		s.Reportf("pytorch/malformed", formats.High, keysAt, "the storage keys pickle at offset %d is not a plain list of strings; the storages after it cannot be located", keysAt)
		return
	}
	s.Detail("tensors", strconv.Itoa(len(refs)))
	s.Detail("storages", strconv.Itoa(len(kf.Strings)))
	if res != nil {
		s.Detail("pickle_protocol", strconv.Itoa(res.Protocol))
	}
	for _, key := range kf.Strings {
		ref, ok := refs[key]
		if !ok {
			s.Reportf("pytorch/missing-storage", formats.High, st.off,
				"the keys list names storage %q, which the main pickle never declares; torch.load fails, and its size (hence where the next storage starts) is unknown", key)
			return
		}
		if ref.ElemSize == 0 {
			s.Reportf("pytorch/unknown-storage-type", formats.High, st.off,
				"storage %q has type %s, not a known torch storage class; its bytes (and everything after) cannot be located", key, ref.Type)
			return
		}
		at := st.off
		count, ok := st.storage("storage "+strconv.Quote(key), ref.ElemSize)
		if !ok {
			return
		}
		if count != ref.Numel {
			s.Reportf("pytorch/storage-size-mismatch", formats.High, at,
				"storage %q holds %d elements but the pickle declares %d; torch.load refuses it", key, count, ref.Numel)
		}
		delete(refs, key)
	}
	if len(refs) > 0 {
		s.Reportf("pytorch/missing-storage", formats.High, formats.NoOffset,
			"%d storages declared by the main pickle have no data in the file; torch.load would leave tensors unfilled", len(refs))
	}
	st.trailing("the checkpoint")
}
