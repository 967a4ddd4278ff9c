package all_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

// TestRedTeamAttacks: the session-3 red-team fixtures
// (formats/pickle/testdata/attacks/redteam, made and proven live by
// formats/pickle/testdata/make_redteam.py; labels.tsv says which loader
// runs each and whether the payload ran). Each case is named by its
// attack class and expects its rule at High or above in the default
// (strict) profile. The few the loaders refuse or never read (want "")
// must stay below High: they cannot run anything, and a scanner that
// fails them fails files nobody can exploit.
func TestRedTeamAttacks(t *testing.T) {
	dir := filepath.Join(formatstest.RepoRoot(t), "formats", "pickle", "testdata", "attacks", "redteam")
	checkAttackTable(t, dir, []attackCase{
		{"getattr of import_module", "getattr_import_module.pkl", "pickle/dangerous-import"},
		{"operator.attrgetter chain", "operator_attrgetter.pkl", "pickle/dangerous-import"},
		{"operator.methodcaller chain", "operator_methodcaller.pkl", "pickle/dangerous-import"},
		{"functools.partial of posix.system", "functools_partial.pkl", "pickle/dangerous-import"},
		{"functools.reduce over getattr", "functools_reduce_getattr.pkl", "pickle/dangerous-import"},
		{"copyreg._reconstructor with a hostile base", "copyreg_reconstructor_popen.pkl", "pickle/dangerous-import"},
		{"OBJ opcode calls a function", "obj_opcode_check_call.pkl", "pickle/dangerous-import"},
		{"INST opcode of posix.system", "inst_opcode_posix.pkl", "pickle/dangerous-import"},
		// The registry is empty in a stock Python, but a process that
		// registered codes (copyreg.add_extension) would resolve them.
		{"EXT1 extension code", "ext_code.pkl", "pickle/ext-code"},
		{"STACK_GLOBAL of MEMOIZE'd names", "stack_global_memoize.pkl", "pickle/dangerous-import"},
		{"STACK_GLOBAL of names computed by _codecs.encode rot13", "stack_global_rot13.pkl", "pickle/nonliteral-global"},
		{"STACK_GLOBAL of names computed by builtins.str", "stack_global_str_of_bytes.pkl", "pickle/nonliteral-global"},
		{"dotted name through numpy._builtins", "dotted_numpy_builtins.pkl", "pickle/dangerous-import"},
		{"dotted name through enum.bltns", "dotted_enum_bltns.pkl", "pickle/dangerous-import"},
		{"dotted names through collections._sys and random._os", "dotted_random_os.pkl", "pickle/dangerous-import"},
		{"dotted name from pathlib to os", "dotted_pathlib_os.pkl", "pickle/dangerous-import"},
		{"protocol-0 raw-unicode-escape names", "raw_unicode_escape_names.pkl", "pickle/dangerous-import"},
		{"protocol-0 string-escape names", "string_escape_names.pkl", "pickle/dangerous-import"},
		{"BUILD puts __setstate__ in an instance dict", "setstate_override_instance.pkl", "pickle/setstate-override"},
		{"BUILD slot state on the torch.Tensor class", "build_slotstate_tensor_class.pkl", "pickle/build-on-global"},
		{"payload in the second pickle of a stream", "second_pickle_in_stream.pkl", "pickle/dangerous-import"},
		{"payload after a framed first pickle", "frame_then_second_pickle.pkl", "pickle/dangerous-import"},
		{"defaultdict factory", "defaultdict_factory.pkl", "pickle/dangerous-import"},
		{"NEWOBJ_EX of a hostile class", "newobj_ex_popen.pkl", "pickle/dangerous-import"},
		// pickle.load refuses NEXT_BUFFER without buffers= and BINPERSID
		// without persistent_load: nothing runs.
		{"out-of-band buffer without buffers", "oob_buffer.pkl", ""},
		{"BINPERSID in a plain pickle", "persid_plain.pkl", ""},
		{"torch.storage._load_from_bytes of a pickle", "nested_load_from_bytes.pkl", "pickle/dangerous-import"},
		{"pickle.loads of base64", "nested_pickle_b64.pkl", "pickle/dangerous-import"},
		// Safe-listed names only: the dtype's BUILD state denies the
		// objects it holds, so numpy reads raw bytes as object pointers
		// (labels.tsv: crash, a segfault under pickle.load).
		{"forged dtype flags: structured with an object field", "numpy_forged_dtype_flags.pkl", "pickle/forged-dtype-flags"},
		{"forged dtype flags: object dtype", "numpy_forged_object_dtype.pkl", "pickle/forged-dtype-flags"},
		{"forged dtype flags: object subarray", "numpy_forged_subarray.pkl", "pickle/forged-dtype-flags"},
		{"forged dtype flags: object field past the keep budget", "numpy_forged_field_past_budget.pkl", "pickle/forged-dtype-flags"},
		// The dtype state places a field or subarray outside its item:
		// heap reads and writes out of bounds (labels.tsv: crash; the
		// write one during pickle.load itself).
		{"forged dtype layout: object field far past the item (write)", "numpy_forged_field_offset_write.pkl", "pickle/forged-dtype-layout"},
		{"forged dtype layout: plain field far past the item (read)", "numpy_forged_field_offset_read.pkl", "pickle/forged-dtype-layout"},
		{"forged dtype layout: subarray larger than the item", "numpy_forged_subarray_overflow.pkl", "pickle/forged-dtype-layout"},
		// numpy accepts a bytes buffer for an object array (labels.tsv:
		// crash under str()).
		{"object ndarray over a raw buffer", "numpy_ndarray_object_buffer.pkl", "pickle/raw-object-buffer"},
		{"object recarray over a raw buffer", "numpy_recarray_object_buffer.pkl", "pickle/raw-object-buffer"},
		{"object ndarray buffer as a NEWOBJ_EX keyword", "numpy_newobj_ex_buffer_kwarg.pkl", "pickle/raw-object-buffer"},
		{"object ndarray buffer through copyreg.__newobj__", "numpy_copyreg_newobj_buffer.pkl", "pickle/raw-object-buffer"},
		// Generator states copied unchecked into C (labels.tsv: crash
		// at the first draw).
		{"RandomState MT19937 pos outside its key", "numpy_rng_pos_oob.pkl", "pickle/rng-state-bounds"},
		{"Generator Philox buffer_pos before its buffer", "numpy_rng_philox_buffer_pos.pkl", "pickle/rng-state-bounds"},
		// ndarray.__setstate__ does not check the list's length (labels.tsv: crash).
		{"object array with fewer items than its shape", "numpy_object_short_list.pkl", "pickle/object-array-short-list"},
		{"numpy object array elements", "numpy_object_elements.pkl", "pickle/dangerous-import"},
		{"zip duplicate data.pkl, payload last", "zip_dup_data_pkl_evil_last.pt", "archive/duplicate-name"},
		{"zip duplicate data.pkl, payload first", "zip_dup_data_pkl_evil_first.pt", "archive/duplicate-name"},
		{"pickle prepended to a torch zip", "zip_prepended_pickle.pt", "pickle/dangerous-import"},
		{"zip with two record folders", "zip_second_prefix.pt", "pickle/dangerous-import"},
		{"zip local and central names differ", "zip_local_name_differs.pt", "archive/inconsistent-header"},
		// No loader reads a zip comment.
		{"pickle in the zip comment", "zip_comment_pickle.pt", ""},
		{"deflated data.pkl", "zip_deflated.pt", "pickle/dangerous-import"},
		{"zip64 data.pkl", "zip_zip64.pt", "pickle/dangerous-import"},
		{"data.pkl CRC mismatch (torch does not check)", "zip_bad_crc.pt", "pickle/dangerous-import"},
		{"zip end record hidden in the end record's comment", "zip_fake_end_record.pt", "archive/malformed"},
		{"numpy object array in a torch zip", "zip_numpy_object_array.pt", "pickle/dangerous-import"},
		{"legacy torch: payload in the magic-number pickle", "legacy_evil_magic.pt", "pickle/dangerous-import"},
		{"legacy torch: payload in sys_info", "legacy_evil_sysinfo.pt", "pickle/dangerous-import"},
		{"legacy torch: payload in the storage keys", "legacy_evil_keys.pt", "pickle/dangerous-import"},
		{"legacy tar: sys_info member", "legacy_tar_sys_info.pt", "pickle/dangerous-import"},
		{"legacy tar: storages member", "legacy_tar_storages.pt", "pickle/dangerous-import"},
		{"legacy tar: tensors member", "legacy_tar_tensors.pt", "pickle/dangerous-import"},
		{"npy header with a duplicate descr key", "npy_dup_descr.npy", "pickle/dangerous-import"},
		{"npy header descr by string concatenation", "npy_concat_descr.npy", "pickle/dangerous-import"},
		{"npy header with a comment", "npy_comment_header.npy", "pickle/dangerous-import"},
		{"npy structured dtype with an object field", "npy_structured_object.npy", "pickle/dangerous-import"},
		{"npy subarray of objects", "npy_subarray_object.npy", "pickle/dangerous-import"},
		{"npy fortran-order object array", "npy_fortran_object.npy", "pickle/dangerous-import"},
		{"npy version 3 object array", "npy_v3_object.npy", "pickle/dangerous-import"},
		{"npy descr spelled with an escape", "npy_escape_descr.npy", "pickle/dangerous-import"},
		{"npy empty object array (numpy still unpickles)", "npy_zero_shape_object.npy", "pickle/dangerous-import"},
		{"npy name on a raw pickle", "npy_raw_pickle.npy", "pickle/dangerous-import"},
		{"npz member without .npy", "npz_member_without_suffix.npz", "pickle/dangerous-import"},
		{"npz duplicate member", "npz_dup_member.npz", "archive/duplicate-name"},
		{"npz member that is a raw pickle", "npz_raw_pickle_member.npz", "pickle/dangerous-import"},
		{"joblib object-array wrapper", "joblib_object_wrapper.joblib", "pickle/dangerous-import"},
		{"joblib lzma (alone format)", "joblib_lzma.joblib", "pickle/dangerous-import"},
		{"joblib bz2", "joblib_bz2.joblib", "pickle/dangerous-import"},
		{"joblib ZF compat zfile", "joblib_zfile_compat.pkl", "pickle/dangerous-import"},
		{"joblib xz object-array wrapper", "joblib_xz_object_wrapper.joblib", "pickle/dangerous-import"},
	})
}

// attackCase is one labelled attack fixture: the class it stands for, its
// file, and the rule it must raise at High or above ("" when no loader
// runs it, so nothing may reach High).
type attackCase struct{ class, file, want string }

// checkAttackTable scans each case's fixture in dir and checks its rule,
// then that every fixture in dir has a case and a labels.tsv row, and
// that the corpus holds at least 40 labelled fixtures.
func checkAttackTable(t *testing.T, dir string, cases []attackCase) {
	t.Helper()
	cased := map[string]bool{}
	for _, c := range cases {
		cased[c.file] = true
		t.Run(c.class, func(t *testing.T) {
			res := formatstest.ScanDir(t, false, filepath.Join(dir, c.file))
			got := formatstest.ResultRules(res, formats.High)
			if c.want == "" {
				if len(got) > 0 {
					t.Errorf("%s: no loader runs it, but findings at High or above: %v%s", c.file, got, formatstest.DescribeResult(res))
				}
				return
			}
			if !slices.Contains(got, c.want) {
				t.Errorf("%s: want %s at High or above, got %v%s", c.file, c.want, got, formatstest.DescribeResult(res))
			}
		})
	}
	labelled := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			labelled[strings.Split(line, "\t")[0]] = true
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "labels.tsv" && !labelled[e.Name()] {
			t.Errorf("%s has no row in labels.tsv", e.Name())
		}
		if e.Name() != "labels.tsv" && !cased[e.Name()] {
			t.Errorf("%s has no test case", e.Name())
		}
	}
	if len(labelled) < 40 {
		t.Errorf("only %d labelled fixtures", len(labelled))
	}
}
