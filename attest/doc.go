// Package attest reads, verifies, binds and creates in-toto attestations
// for model folders: Sigstore bundles and bare DSSE envelopes holding
// in-toto Statements (v0.1 and v1), SLSA provenance (v0.2 and v1) checked
// against what the user requires, and in-toto layouts with their links.
//
// Signatures are checked by package verify (keys, certificate chains,
// keyless against a trusted root on disk); this package never writes a
// second verifier. Nothing here executes what it verifies: in-toto layout
// inspections are refused before any verification, and the in-toto
// library entry points that run them (InTotoVerify, RunInspections,
// VerifySublayouts) are never called.
package attest
