package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// FormatBytes prints a payload size with a binary unit (16 B, 64 KiB,
// 4 MiB).
func FormatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// WritePayloadTable prints a payload sweep: for each payload (in the order
// of recs) a row per system with its rate, latency, allocations and bytes
// allocated per operation, and on the rows after the first of each payload
// the first system's rate divided by that row's ("protosocket ÷ this").
func WritePayloadTable(w io.Writer, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	first := recs[0].System
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "payload\tconc\tsystem\tcalls/s\tp50\tp99\terrors\tallocs/op\tB/op\t%s ÷ this\t\n", first)
	var lead *Record
	for i := range recs {
		r := &recs[i]
		if lead == nil || r.PayloadBytes != lead.PayloadBytes {
			lead = nil
			if r.System == first {
				lead = r
			}
		}
		vs := ""
		if lead != nil && r != lead {
			vs = Ratio(lead.ThroughputRPS, r.ThroughputRPS, 0)
		}
		noisy := ""
		if r.Noisy {
			noisy = " (noisy)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s%s\t%s\t%s\t%d\t%.2f\t%s\t%s\t\n", FormatBytes(r.PayloadBytes), r.Concurrency, r.System,
			FormatRate(r.ThroughputRPS), noisy, FormatUs(r.P50us), FormatUs(r.P99us), r.Errors, r.AllocsPerOp, formatBytesPerOp(r.BytesPerOp), vs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range recs {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s at %s: %d errors, first: %s\n", r.System, FormatBytes(r.PayloadBytes), r.Errors, r.FirstError)
		}
	}
	return nil
}

// formatBytesPerOp prints bytes allocated per operation compactly.
func formatBytesPerOp(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case v >= 10<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f", v)
}
