# Writes model.json and model.ubj: a small XGBoost booster saved by XGBoost
# itself (run here with /usr/bin/python3 and Debian python3-xgboost 1.7.4).
import numpy as np
import xgboost as xgb

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=3)
booster.save_model("model.json")
booster.save_model("model.ubj")
