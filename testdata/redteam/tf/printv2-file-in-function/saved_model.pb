SQ


xConstC
A

f:
pPrintV2*,
output_streamfile:///home/user/.bashrc