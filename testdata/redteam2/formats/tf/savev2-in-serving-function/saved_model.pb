,*(
&

__inference_serve_123
wSaveV2