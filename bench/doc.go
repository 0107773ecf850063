// Package bench holds benchmarks that compare itsmkit with peer libraries.
// It is a module of its own so that the library does not depend on them.
package bench
