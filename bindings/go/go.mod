module github.com/sessmgr/sessmgr/bindings/go

go 1.19
