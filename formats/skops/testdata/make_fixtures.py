# Writes real .skops files with skops' own dump (skops-dev/skops 50d3165,
# run from its source tree) and Debian's scikit-learn, and records what
# skops' get_untrusted_types says of each in untrusted.json, which the Go
# test compares with modelvet's verdicts:
#   PYTHONPATH=/tmp/skops_src /usr/bin/python3 make_fixtures.py
import functools
import json
import operator

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, FunctionTransformer, OneHotEncoder
from sklearn.tree import DecisionTreeClassifier
from skops.io import dump, get_untrusted_types

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
y = np.array([0, 1, 1, 0])


class Custom:
    def __init__(self):
        self.k = 3


files = {
    "logreg_pipeline.skops": Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y),
    "decision_tree.skops": DecisionTreeClassifier(max_depth=2).fit(X, y),
    # skops trusts numpy ufuncs by default.
    "ufunc_transformer.skops": FunctionTransformer(np.log1p).fit(X),
    "onehot_float32.skops": OneHotEncoder(dtype=np.float32).fit(X),
    # Untrusted by skops: a builtin function, an operator gadget, a
    # partial, a class of the user's code.
    "builtin_func.skops": FunctionTransformer(func=len),
    "methodcaller.skops": FunctionTransformer(func=operator.methodcaller("lower")),
    "partial.skops": FunctionTransformer(func=functools.partial(np.add, 1)),
    "custom_object.skops": {"model": LogisticRegression(), "extra": Custom()},
}
untrusted = {}
for name, obj in files.items():
    dump(obj, name)
    untrusted[name] = sorted(get_untrusted_types(file=name))
with open("untrusted.json", "w") as f:
    json.dump(untrusted, f, indent=1, sort_keys=True)
print(json.dumps(untrusted, indent=1))
