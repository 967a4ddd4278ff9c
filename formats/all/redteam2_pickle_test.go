package all_test

import (
	"path/filepath"
	"testing"

	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRedTeam2Attacks: the second red-team round
// (formats/pickle/testdata/attacks/redteam2, made and proven live by
// formats/pickle/testdata/make_redteam2.py; labels.tsv says which loader
// ran each and what happened: runs, crash, refused). It attacks the
// proof of the strict profile rather than its lists: integers numpy
// reads from values computed at load time, numpy state delivered by
// something other than BUILD or changed after it was checked, torch
// rebuild functions whose checks only torch.load makes, parser
// differentials, npy header spellings and compressed-stream framing.
// Each case is named by its class and expects its rule at High or above
// in the default (strict) profile; the cases a loader refuses (want "")
// must stay below High.
func TestRedTeam2Attacks(t *testing.T) {
	dir := filepath.Join(formatstest.RepoRoot(t), "formats", "pickle", "testdata", "attacks", "redteam2")
	checkAttackTable(t, dir, []attackCase{
		// numpy reads the dtype's version and flags with "i", through
		// __index__: a call's result is an int to it.
		{"dtype flags from builtins.int", "numpy_dtype_flags_int_call.pkl", "pickle/forged-dtype-flags"},
		{"dtype flags from a numpy integer scalar", "numpy_dtype_flags_numpy_scalar.pkl", "pickle/forged-dtype-flags"},
		{"dtype version from builtins.int", "numpy_dtype_version_int_call.pkl", "pickle/forged-dtype-flags"},
		{"dtype flags as a zero-padded 9-byte LONG1", "numpy_dtype_flags_long_padded.pkl", "pickle/forged-dtype-flags"},
		{"dtype flags spelled as protocol-0 bool I00", "numpy_dtype_flags_int_bool.pkl", "pickle/forged-dtype-flags"},
		{"dtype flags from a memo index spelled 1_0", "memo_index_underscore.pkl", "pickle/forged-dtype-flags"},
		{"joblib wrapper dtype with computed flags", "joblib_wrapper_dtype_int_flags.joblib", "pickle/forged-dtype-flags"},
		{"dtype flags computed, in a torch zip", "zip_dtype_flags_int_call.pt", "pickle/forged-dtype-flags"},
		{"dtype flags computed, in a legacy torch file", "legacy_dtype_flags_int_call.pt", "pickle/forged-dtype-flags"},
		{"RandomState pos from builtins.int", "numpy_rng_pos_int_call.pkl", "pickle/rng-state-bounds"},
		// numpy gives every object dtype at least flags 27 (63 for the
		// object type): without NPY_NEEDS_INIT the list path decrefs
		// uninitialised memory.
		{"object dtype flags 3 (no NPY_NEEDS_INIT)", "numpy_dtype_flags_no_needs_init.pkl", "pickle/forged-dtype-flags"},
		{"object dtype flags 55 (63 without NPY_NEEDS_INIT)", "numpy_dtype_flags_55.pkl", "pickle/forged-dtype-flags"},
		{"object dtype made through copyreg.__newobj__", "numpy_dtype_via_copyreg_newobj.pkl", "pickle/forged-dtype-flags"},
		// A 7-item dtype state has no flags: numpy sets them to 0.
		{"7-item dtype state on an object dtype", "numpy_dtype_state_7tuple.pkl", "pickle/forged-dtype-flags"},
		// A 6-item state without fields: numpy refuses it (no names).
		{"6-item dtype state without fields", "numpy_dtype_state_6tuple.pkl", ""},
		// numpy changes a dtype in place under what holds it.
		{"dtype given objects after an array took raw bytes", "numpy_dtype_mutated_after_array.pkl", "pickle/dtype-state-after-use"},
		{"field dtype given objects after its parent was checked", "numpy_dtype_field_mutated_after_parent.pkl", "pickle/dtype-state-after-use"},
		{"dtype fields dict changed by SETITEM after the check", "numpy_dtype_fields_mutated.pkl", "pickle/dtype-state-after-use"},
		{"dtype mutated after use, in a torch zip", "zip_dtype_mutated_after_array.pt", "pickle/dtype-state-after-use"},
		// _rebuild_from_type_v2 calls ret.__setstate__(state): the same
		// state checks as BUILD.
		{"RandomState state through _rebuild_from_type_v2", "numpy_rng_via_rebuild_from_type.pkl", "pickle/rng-state-bounds"},
		{"RandomState state through _rebuild_from_type_v2, torch zip", "zip_rng_via_rebuild_from_type.pt", "pickle/rng-state-bounds"},
		{"short object list through _rebuild_from_type_v2", "numpy_short_list_via_rebuild_from_type.pkl", "pickle/object-array-short-list"},
		// Past the keep budgets the state is not kept: still judged.
		{"short object list after padding past the keep budget", "numpy_short_list_past_budget.pkl", "pickle/object-array-short-list"},
		// torch.load validates sparse indices; pickle.load does not.
		{"sparse CSR tensor with an out-of-range column, plain pickle", "torch_sparse_csr_oob.pkl", "pickle/unvalidated-sparse-tensor"},
		{"sparse CSR tensor in a torch zip (torch.load refuses)", "zip_sparse_csr_oob.pt", ""},
		// PackageImporter imports the archive's own source first.
		{"torch.package source shadowing torch._utils", "torch_package_shadow.pt", "pytorch/package-shadowed-module"},
		{"torch.package model code run by load_pickle", "torch_package_model_code.pt", "pytorch/package-code"},
		{"storage numel larger than its record", "zip_storage_numel_forged.pt", "pytorch/storage-too-small"},
		{"TorchScript storage numel larger than its record", "torchscript_numel_forged.pt", "pytorch/storage-too-small"},
		{"memo entry overwritten by a second PUT", "memo_put_overwrite.pkl", "pickle/dangerous-import"},
		{"PROTO in the middle of a pickle", "proto_mid_stream.pkl", "pickle/dangerous-import"},
		{"LONG_BINPUT/LONG_BINGET at index 2**24", "long_binget_memo.pkl", "pickle/dangerous-import"},
		{"POP of a MARK", "pop_mark_then_global.pkl", "pickle/dangerous-import"},
		// numpy's descr_to_dtype accepts more than numpy's own writer.
		{"npy descr comma list f8,O", "npy_descr_comma_string.npy", "pickle/dangerous-import"},
		{"npy descr list of 2-character strings", "npy_descr_list_of_str.npy", "pickle/dangerous-import"},
		{"npy descr dict iterated for its keys", "npy_descr_dict_keys.npy", "pickle/dangerous-import"},
		{"npy descr titled object field", "npy_descr_titled_object.npy", "pickle/dangerous-import"},
		{"npy descr nested structured object field", "npy_descr_nested_object.npy", "pickle/dangerous-import"},
		{"npy descr (base, shape) tuple", "npy_descr_tuple_subarray.npy", "pickle/dangerous-import"},
		{"npy descr type name object", "npy_descr_object_word.npy", "pickle/dangerous-import"},
		{"npy descr count prefix 1O", "npy_descr_count_prefix.npy", "pickle/dangerous-import"},
		{"npy Python 2 header with 1L", "npy_py2_long_shape.npy", "pickle/dangerous-import"},
		{"npy descr empty field name with an object", "npy_descr_empty_name_object.npy", "pickle/dangerous-import"},
		{"npz starting with an empty end record", "npz_eocd_prefix.npz", "pickle/dangerous-import"},
		// zipfile reads LZMA and bzip2 members; modelvet fails closed on
		// the methods it does not decode.
		{"npz member compressed with LZMA", "npz_lzma_member.npz", "archive/unsupported-method"},
		{"npz member compressed with bzip2", "npz_bzip2_member.npz", "pickle/dangerous-import"},
		{"joblib NDArrayWrapper naming /proc/self/cwd", "joblib_ndarraywrapper_proc_cwd.pkl", "joblib/side-file-escape"},
		// A pickle split across concatenated compressed streams.
		{"gzip two members", "joblib_gzip_two_members.joblib", "pickle/dangerous-import"},
		{"bz2 two streams", "joblib_bz2_two_streams.joblib", "pickle/dangerous-import"},
		{"xz two streams", "joblib_xz_two_streams.joblib", "pickle/dangerous-import"},
		{"xz stream then an lzma-alone stream", "joblib_xz_then_alone.joblib", "pickle/dangerous-import"},
		{"two lzma-alone streams", "joblib_lzma_two_streams.joblib", "pickle/dangerous-import"},
	})
}
