QO


xConstA
?

__inference_call_42&
pfEagerPyFunc*
token
pyfunc_0