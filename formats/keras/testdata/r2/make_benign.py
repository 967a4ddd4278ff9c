# Benign Keras 2 .h5 and Keras 3 .keras fixtures written the way those versions lay them out (R2).
# Run from formats/keras/testdata with /usr/bin/python3 (h5py, numpy).
import h5py, json, numpy as np, zipfile, io, os
os.makedirs("r2", exist_ok=True)
def layer(cls, name, **cfg):
    c = {"name": name, "trainable": True, "dtype": "float32"}; c.update(cfg)
    return {"class_name": cls, "config": c}
seq = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 28, 28, 1], "dtype": "float32", "sparse": False, "ragged": False, "name": "input_1"}},
    layer("Conv2D", "conv2d", filters=8, kernel_size=[3,3], strides=[1,1], padding="valid", data_format="channels_last", dilation_rate=[1,1], groups=1, activation="relu", use_bias=True,
          kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}}, bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None),
    layer("BatchNormalization", "batch_normalization", axis=[3], momentum=0.99, epsilon=0.001, center=True, scale=True),
    layer("MaxPooling2D", "max_pooling2d", pool_size=[2,2], padding="valid", strides=[2,2], data_format="channels_last"),
    layer("Dropout", "dropout", rate=0.25, noise_shape=None, seed=None),
    layer("Flatten", "flatten", data_format="channels_last"),
    layer("Dense", "dense", units=10, activation="softmax", use_bias=True, kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}}, bias_initializer={"class_name": "Zeros", "config": {}}),
]}}
train = {"loss": "categorical_crossentropy", "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]], "weighted_metrics": None, "loss_weights": None,
         "optimizer_config": {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}
def write_h5(path, cfg, layers):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.12.0"; f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg).encode()
        f.attrs["training_config"] = json.dumps(train).encode()
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([l.encode() for l in layers])
        mw.attrs["backend"] = b"tensorflow"; mw.attrs["keras_version"] = b"2.12.0"
        for l in layers:
            g = mw.create_group(l)
            if l in ("conv2d", "dense", "lstm"):
                g.attrs["weight_names"] = np.array([f"{l}/kernel:0".encode(), f"{l}/bias:0".encode()])
                sg = g.create_group(l)
                sg.create_dataset("kernel:0", data=np.random.randn(3,3).astype(np.float32))
                sg.create_dataset("bias:0", data=np.zeros(3, np.float32))
            else:
                g.attrs["weight_names"] = np.array([], dtype="S1")
        og = f.create_group("optimizer_weights")
        og.attrs["weight_names"] = np.array([b"Adam/iter:0"])
        og.create_group("Adam").create_dataset("iter:0", data=np.int64(10))
write_h5("r2/seq_cnn.h5", seq, ["conv2d","batch_normalization","max_pooling2d","dropout","flatten","dense"])
lstm = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 10, 4], "dtype": "float32", "name": "input_2"}},
    layer("LSTM", "lstm", return_sequences=False, units=16, activation="tanh", recurrent_activation="sigmoid", dropout=0.0, recurrent_dropout=0.0, unroll=False, time_major=False),
    layer("Bidirectional", "bidirectional", layer=layer("GRU", "gru", units=8), merge_mode="concat"),
    layer("TimeDistributed", "td", layer=layer("Dense", "dense_td", units=4)),
    layer("Dense", "dense", units=1, activation="sigmoid")]}}
write_h5("r2/seq_lstm.h5", lstm, ["lstm", "bidirectional", "td", "dense"])
func = {"class_name": "Functional", "config": {"name": "model", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "in"}, "name": "in", "inbound_nodes": []},
    {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}, "name": "dense", "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"class_name": "Add", "config": {"name": "add"}, "name": "add", "inbound_nodes": [[["dense", 0, 0, {}], ["dense", 0, 0, {}]]]}],
    "input_layers": [["in", 0, 0]], "output_layers": [["add", 0, 0]]}}
write_h5("r2/functional.h5", func, ["in","dense","add"])
# Keras 3 .keras
k3 = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None},
  "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "dtype": "float32", "sparse": False, "name": "input_layer"}, "registered_name": None},
             {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}, "units": 4, "activation": "relu", "use_bias": True,
               "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None}, "registered_name": None}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None},
               "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None}, "registered_name": None, "build_config": {"input_shape": [None, 8]}},
             {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout", "rate": 0.1, "seed": None, "noise_shape": None}, "registered_name": None, "build_config": {"input_shape": [None, 4]}}],
  "build_input_shape": [None, 8]}, "registered_name": None, "build_config": {"input_shape": [None, 8]},
  "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}, "registered_name": None},
      "loss": "mse", "loss_weights": None, "metrics": ["mae"], "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}}
wb = io.BytesIO()
with h5py.File(wb, "w") as f:
    l = f.create_group("layers"); d = l.create_group("dense").create_group("vars")
    d.create_dataset("0", data=np.zeros((8,4), np.float32)); d.create_dataset("1", data=np.zeros(4, np.float32))
    l.create_group("dropout").create_group("vars"); l.create_group("input_layer").create_group("vars")
    f.create_group("optimizer").create_group("vars").create_dataset("0", data=np.int64(0))
with zipfile.ZipFile("r2/model.keras", "w") as z:
    z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2024-10-01@12:00:00"}))
    z.writestr("config.json", json.dumps(k3))
    z.writestr("model.weights.h5", wb.getvalue())
print("ok")
