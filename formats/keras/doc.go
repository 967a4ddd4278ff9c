// Package keras is being written.
package keras
