module github.com/sturdy-go/sturdy/slowlog/slowtrace

go 1.26.0

replace github.com/sturdy-go/sturdy => ../..

require (
	github.com/sturdy-go/sturdy v0.0.0-00010101000000-000000000000
	go.uber.org/zap v1.28.0
	golang.org/x/exp v0.0.0-20261120182113-8801fbdfac81
)

require go.uber.org/multierr v1.10.0 // indirect
