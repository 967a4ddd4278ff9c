package mlflow

import (
	"testing"

	"github.com/modelvet/modelvet/formats"
	"github.com/modelvet/modelvet/formats/formatstest"
)

func TestModuleFiles(t *testing.T) {
	cases := []struct {
		name, file, content string
		rule                string
		sev                 formats.Severity
	}{
		{"pytorch flavor as mlflow writes it", "pickle_module_info.txt", "mlflow.pytorch.pickle_module", "", 0},
		{"keras flavor as mlflow writes it", "keras_module.txt", "tensorflow.keras", "", 0},
		{"pickle module shipped in code/", "pickle_module_info.txt", "my_unpickler", "mlflow/loader-module", formats.High},
		{"dill as the pickle module (code by value)", "pickle_module_info.txt", "dill", "mlflow/loader-module", formats.Critical},
		{"keras module that is not Keras", "keras_module.txt", "evil_keras", "mlflow/loader-module", formats.High},
		{"keras module reaching os", "keras_module.txt", "os.path.os", "mlflow/loader-module", formats.Critical},
		{"pickle module reaching os", "pickle_module_info.txt", "os", "mlflow/loader-module", formats.Critical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			formatstest.ExpectRule(t, c.file, "mlflow", []byte(c.content), c.rule, c.sev)
		})
	}
}
