module github.com/sturdy-go/sturdy/examples/wsupgrade

go 1.26.0

replace github.com/sturdy-go/sturdy => ../..

require (
	github.com/gorilla/websocket v1.5.3
	github.com/sturdy-go/sturdy v0.0.0-00010101000000-000000000000
)
