// deploy-check validates flowlake's deployment files offline, with the libraries Docker itself uses,
// for machines without a Docker engine or its compose plugin (flowlake's tests run it):
//
//	deploy-check compose [--profile P]... FILE   load a Compose file as `docker compose config` does
//	                                             (compose-go: the Compose specification's schema,
//	                                             interpolation, normalisation, consistency checks such
//	                                             as depends_on on an unknown service) and print the
//	                                             resolved project as JSON
//	deploy-check dockerfile FILE                 parse a Dockerfile as BuildKit does (syntax, every
//	                                             instruction and its flags, BuildKit's lint rules as
//	                                             errors) and print its stages as JSON
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

type profiles []string

func (p *profiles) String() string     { return strings.Join(*p, ",") }
func (p *profiles) Set(v string) error { *p = append(*p, v); return nil }

func compose(args []string) error {
	flags := flag.NewFlagSet("compose", flag.ExitOnError)
	var selected profiles
	flags.Var(&selected, "profile", "a profile to enable (repeatable)")
	if err := flags.Parse(args); err != nil || flags.NArg() != 1 {
		return fmt.Errorf("usage: deploy-check compose [--profile P]... FILE")
	}
	options, err := cli.NewProjectOptions([]string{flags.Arg(0)}, cli.WithOsEnv, cli.WithDotEnv,
		cli.WithName("flowlake"), cli.WithProfiles(selected), cli.WithConsistency(true))
	if err != nil {
		return err
	}
	var project *types.Project
	if project, err = options.LoadProject(context.Background()); err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err == nil {
		_, err = os.Stdout.Write(out)
	}
	return err
}

type stage struct {
	Name     string   `json:"name"`
	BaseName string   `json:"base"`
	Commands []string `json:"commands"`
}

func dockerfile(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: deploy-check dockerfile FILE")
	}
	file, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer file.Close()
	result, err := parser.Parse(file)
	if err != nil {
		return err
	}
	var problems []string
	for _, warning := range result.Warnings {
		problems = append(problems, fmt.Sprintf("line %d: %s", warning.Location.Start.Line, warning.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, description, url, message string, location []parser.Range) {
		line := 0
		if len(location) > 0 {
			line = location[0].Start.Line
		}
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, rule, message))
	}})
	stages, _, err := instructions.Parse(result.AST, lint)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	var out []stage
	for _, s := range stages {
		var commands []string
		for _, command := range s.Commands {
			commands = append(commands, fmt.Sprint(command))
		}
		out = append(out, stage{Name: s.Name, BaseName: s.BaseName, Commands: commands})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	commands := map[string]func([]string) error{"compose": compose, "dockerfile": dockerfile}
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: deploy-check compose|dockerfile ...")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
