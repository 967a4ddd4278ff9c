// Package numpy is being written.
package numpy
