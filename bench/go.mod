module github.com/itsmkit/itsmkit/bench

go 1.26

require github.com/itsmkit/itsmkit v0.0.0

require (
	github.com/qmuntal/stateless v1.7.2 // indirect
	github.com/rickar/cal/v2 v2.1.13 // indirect
)

replace github.com/itsmkit/itsmkit => ../
