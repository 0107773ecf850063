module github.com/itsmkit/itsmkit

go 1.26

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/govalues/decimal v0.1.32 // indirect
	github.com/rickar/cal/v2 v2.1.13 // indirect
	github.com/rickb777/date/v2 v2.1.3 // indirect
	github.com/rickb777/period v1.0.6 // indirect
	github.com/rickb777/plural v1.4.2 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
