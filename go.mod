module github.com/sturdy-go/sturdy

go 1.26.0

require (
	github.com/dchest/siphash v1.2.3
	go.uber.org/goleak v1.3.0
	go.uber.org/zap v1.28.0
	golang.org/x/crypto v0.59.0
	golang.org/x/net v0.62.0
)

require go.uber.org/multierr v1.10.0 // indirect
