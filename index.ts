// The Pulumi program (`pulumi up -s <site>`): see components/program.ts.
import { drstackProgram } from "./components/program";

export = drstackProgram;
