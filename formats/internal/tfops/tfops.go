// Package tfops holds the one table of TensorFlow ops that reach outside
// the graph (Python callbacks, files, the network), shared by the
// SavedModel/GraphDef reader (formats/keras) and the TFLite reader, whose
// Flex delegate runs the same TensorFlow kernels.
package tfops

import "github.com/modelvet/modelvet/formats"

// Rule says why a TensorFlow op matters and how much.
type Rule struct {
	Rule string           // the rule reported, e.g. tf/file-read
	Sev  formats.Severity // how much it matters in a SavedModel graph
	Why  string           // what the op does, for the message
}

// Risky are ops that call into Python or reach files and the network.
//
// Deliberately NOT listed: Save, SaveV2, SaveSlices, Restore, RestoreV2,
// RestoreSlice, MergeV2Checkpoints, ShardedFilename(spec), StringJoin,
// InitializeTableFromTextFile(V2): every SavedModel's saver graph and
// vocabulary tables use them to restore variables and assets from the
// model's own folder, with paths fed in by the loader, not chosen here.
var Risky = map[string]Rule{
	// Attack class: a graph that calls back into Python. The callable is
	// looked up by token in the loading process, so the file cannot carry
	// the code (hence High, not Critical), but a model that only works with
	// a Python callback is not self-contained and is how py_func payloads
	// are wired into graphs.
	"PyFunc":          {"tf/python-call", formats.High, "calls a Python function of the loading process"},
	"PyFuncStateless": {"tf/python-call", formats.High, "calls a Python function of the loading process"},
	"EagerPyFunc":     {"tf/python-call", formats.High, "calls a Python function of the loading process"},
	// Attack class: writing files (planting code, overwriting configs).
	"WriteFile": {"tf/file-write", formats.High, "writes a file to a path computed by the graph"},
	// A path baked into the graph is memory-mapped: arbitrary file read.
	"ImmutableConst": {"tf/file-read", formats.High, "memory-maps a file named in the graph"},
	// Reading files whose paths usually come from inputs: data exfiltration
	// when the path is a constant, legitimate in input pipelines.
	"ReadFile":                   {"tf/file-read", formats.Medium, "reads a file"},
	"MatchingFiles":              {"tf/file-read", formats.Medium, "lists files matching a pattern"},
	"LoadAndRemapMatrix":         {"tf/file-read", formats.Medium, "reads a checkpoint from a path"},
	"WholeFileReader":            {"tf/file-read", formats.Medium, "reads whole files"},
	"WholeFileReaderV2":          {"tf/file-read", formats.Medium, "reads whole files"},
	"TextLineReader":             {"tf/file-read", formats.Medium, "reads text files"},
	"TextLineReaderV2":           {"tf/file-read", formats.Medium, "reads text files"},
	"TFRecordReader":             {"tf/file-read", formats.Medium, "reads record files"},
	"TFRecordReaderV2":           {"tf/file-read", formats.Medium, "reads record files"},
	"FixedLengthRecordReader":    {"tf/file-read", formats.Medium, "reads record files"},
	"FixedLengthRecordReaderV2":  {"tf/file-read", formats.Medium, "reads record files"},
	"LMDBReader":                 {"tf/file-read", formats.Medium, "reads an LMDB database"},
	"LoadDataset":                {"tf/file-read", formats.Medium, "loads a dataset from a path"},
	"TFRecordDataset":            {"tf/file-read", formats.Medium, "reads record files"},
	"TFRecordDatasetV2":          {"tf/file-read", formats.Medium, "reads record files"},
	"TextLineDataset":            {"tf/file-read", formats.Medium, "reads text files"},
	"FixedLengthRecordDataset":   {"tf/file-read", formats.Medium, "reads record files"},
	"FixedLengthRecordDatasetV2": {"tf/file-read", formats.Medium, "reads record files"},
	// Writers of event files and datasets: files appear where the graph says.
	"SaveDataset":                   {"tf/file-write", formats.Medium, "writes a dataset to a path"},
	"SaveDatasetV2":                 {"tf/file-write", formats.Medium, "writes a dataset to a path"},
	"DatasetToTFRecord":             {"tf/file-write", formats.Medium, "writes a record file"},
	"ExperimentalDatasetToTFRecord": {"tf/file-write", formats.Medium, "writes a record file"},
	"CreateSummaryFileWriter":       {"tf/file-write", formats.Medium, "writes summary event files"},
	"CreateSummaryDbWriter":         {"tf/file-write", formats.Medium, "writes a summary database"},
	// More tf.data sources and sinks that open paths the graph names
	// (CSV and SQLite readers, snapshots that write and read a folder,
	// distributed saves): the same file-access class as the readers above.
	"CSVDataset":                  {"tf/file-read", formats.Medium, "reads CSV files"},
	"CSVDatasetV2":                {"tf/file-read", formats.Medium, "reads CSV files"},
	"ExperimentalCSVDataset":      {"tf/file-read", formats.Medium, "reads CSV files"},
	"SqlDataset":                  {"tf/file-read", formats.Medium, "runs a query on an SQLite database file"},
	"ExperimentalSqlDataset":      {"tf/file-read", formats.Medium, "runs a query on an SQLite database file"},
	"LMDBDataset":                 {"tf/file-read", formats.Medium, "reads an LMDB database"},
	"ExperimentalLMDBDataset":     {"tf/file-read", formats.Medium, "reads an LMDB database"},
	"RecordInput":                 {"tf/file-read", formats.Medium, "reads record files matching a pattern"},
	"SnapshotDataset":             {"tf/file-write", formats.Medium, "writes and reads a dataset snapshot folder"},
	"SnapshotDatasetV2":           {"tf/file-write", formats.Medium, "writes and reads a dataset snapshot folder"},
	"SnapshotDatasetReader":       {"tf/file-read", formats.Medium, "reads a dataset snapshot folder"},
	"SnapshotChunkDataset":        {"tf/file-read", formats.Medium, "reads a dataset snapshot folder"},
	"SnapshotNestedDatasetReader": {"tf/file-read", formats.Medium, "reads a dataset snapshot folder"},
	"DistributedSave":             {"tf/file-write", formats.Medium, "writes a dataset to a path"},
	// Attack class: reconfiguring the file systems (S3/GCS endpoints,
	// credentials) the rest of the process reads and writes through.
	"FileSystemSetConfiguration": {"tf/file-write", formats.High, "changes the process's file-system configuration"},
	// Attack class: network access from inside the graph.
	"Rpc":                  {"tf/network", formats.High, "makes RPC calls to an address"},
	"TryRpc":               {"tf/network", formats.High, "makes RPC calls to an address"},
	"DataServiceDataset":   {"tf/network", formats.Medium, "reads from a tf.data service over the network"},
	"DataServiceDatasetV2": {"tf/network", formats.Medium, "reads from a tf.data service over the network"},
	"DataServiceDatasetV3": {"tf/network", formats.Medium, "reads from a tf.data service over the network"},
	"DataServiceDatasetV4": {"tf/network", formats.Medium, "reads from a tf.data service over the network"},
}
