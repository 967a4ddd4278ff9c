#!/bin/sh
# Fixtures made by the real cosign CLI, v2.6.5, built from the Go module proxy:
#   GOBIN=/tmp/cosign-bin go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
# Run from this folder with COSIGN=/tmp/cosign-bin/cosign. The private key is
# not kept (only cosign.pub): rerunning makes a new key pair and new files.
# No network: --tlog-upload=false.
set -eu
COSIGN=${COSIGN:-cosign}
export COSIGN_PASSWORD=modelvet-test
rm -f cosign.key cosign.pub
"$COSIGN" generate-key-pair
printf 'weights' > model.bin
# pred.json is a SLSA v1 predicate (checked in).
# Sigstore bundle v0.3 (publicKey.hint = base64 SHA-256 of the DER key, DSSE keyid "").
"$COSIGN" attest-blob --key cosign.key --predicate pred.json --type slsaprovenance1 \
  --bundle attest-blob.sigstore.json --new-bundle-format --tlog-upload=false --yes model.bin
# cosign v2 legacy bundle: {"base64Signature": base64 of the DSSE envelope}.
"$COSIGN" attest-blob --key cosign.key --predicate pred.json --type slsaprovenance1 \
  --bundle attest-blob.legacy.json --tlog-upload=false --yes model.bin
# cosign v2 legacy bundle of a plain blob signature (not an attestation).
"$COSIGN" sign-blob --key cosign.key --bundle sign-blob.legacy.json --tlog-upload=false --yes model.bin
rm -f cosign.key

# The other direction was checked with the same CLI on modelvet's output
# (root digest of a folder holding model.bin; trusted root only because
# cosign requires one with --new-bundle-format; the key is what verifies):
#   modelvet attest model --type slsa-v1 --predicate pred.json --key cosign.key --output mv.sigstore.json
#   cosign verify-blob-attestation --key cosign.pub --bundle mv.sigstore.json --new-bundle-format \
#     --trusted-root public-good.json --insecure-ignore-tlog --type slsaprovenance1 \
#     --digest ROOT --digestAlg sha256                        -> Verified OK
#   modelvet attest ... --envelope dsse --output mv.dsse.json
#   cosign verify-blob-attestation --key cosign.pub --signature mv.dsse.json --insecure-ignore-tlog \
#     --type slsaprovenance1 --digest ROOT --digestAlg sha256 -> Verified OK
# With the OMS hint written into the DSSE keyid (modelvet before this change)
# the bundle check failed: "accepted signatures do not match threshold, Found: 0".
# cosign_test.go repeats both checks in Go with cosign's own verification code.
