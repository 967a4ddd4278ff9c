642
0

__inference_serve_9
mMergeV2Checkpoints