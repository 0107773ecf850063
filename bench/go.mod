module github.com/itsmkit/itsmkit/bench

go 1.26.0

require (
	github.com/itsmkit/itsmkit v0.0.0
	github.com/qmuntal/stateless v1.7.2
	github.com/rickar/cal/v2 v2.1.13
)

require (
	github.com/govalues/decimal v0.1.32 // indirect
	github.com/rickb777/date/v2 v2.1.3 // indirect
	github.com/rickb777/period v1.0.6 // indirect
	github.com/rickb777/plural v1.4.2 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
)

replace github.com/itsmkit/itsmkit => ../
