// Package report turns load.Results into what psbench prints: a table for
// people, JSON records for machines (one object per system and scenario,
// keys documented on Record) and SVG/PNG charts drawn with gonum plot
// (latency percentiles against offered rate, throughput over time, one
// column per system).
package report
