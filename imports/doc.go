// Package imports parses and validates the files customers upload to
// LearnLens: HR rosters, course catalogues, enrolments/completions and
// compliance requirements, each as CSV or XLSX.
//
// The package is pure: it reads bytes and returns typed rows plus a list of
// problems, each tied to a file, line and column. It does not touch the
// database. Anything that can be decided from the file alone is checked here
// (required cells, formats, dates, duplicates within the file, manager cycles
// within the file); references to existing data (for example a manager who is
// neither in the file nor in the stored roster) are left to the storage layer.
//
// Parsing is deterministic: the same kind, name and bytes always give an
// identical Result.
package imports
