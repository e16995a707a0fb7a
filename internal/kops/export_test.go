package kops

// Unexported helpers the external tests use.
var (
	IsNotFound = isNotFound
	IntOf      = intOf
)
