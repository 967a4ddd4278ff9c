// Package joblib is being written.
package joblib
