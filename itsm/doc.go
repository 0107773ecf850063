// Package itsm is the shared vocabulary of itsmkit.
package itsm
