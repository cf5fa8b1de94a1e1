// compose-config loads a Compose file the way `docker compose config` does (compose-go: the Compose
// specification's schema, interpolation, normalisation, consistency checks such as depends_on on an
// unknown service) and prints the resolved project as JSON. For machines without Docker's compose
// plugin; flowlake's tests run it on docker-compose.yml.
//
// Usage: compose-config [--profile P]... FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

type profiles []string

func (p *profiles) String() string     { return strings.Join(*p, ",") }
func (p *profiles) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var selected profiles
	flag.Var(&selected, "profile", "a profile to enable (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-config [--profile P]... FILE")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions([]string{flag.Arg(0)}, cli.WithOsEnv, cli.WithDotEnv,
		cli.WithName("flowlake"), cli.WithProfiles(selected), cli.WithConsistency(true))
	if err == nil {
		var project *types.Project
		if project, err = options.LoadProject(context.Background()); err == nil {
			var out []byte
			if out, err = project.MarshalJSON(); err == nil {
				os.Stdout.Write(out)
				return
			}
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
