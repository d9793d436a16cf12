// Package evolution holds the evolution-matrix tests: messages written with
// version 1 of order.schema (package evov1) read by version 2 (evov2) and
// the other way round.
package evolution
