// SPDX-License-Identifier: Apache-2.0
// cribo-pipeline: runs a YAML pipeline (pipelines/*.yaml) stage by stage — skipping what is up to date, under a
// lock, with timestamped lines and a run history — and shows the state of its stages.

import ArgumentParser
import CriboPipeline
import Foundation

@main
struct CriboPipelineTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-pipeline",
        abstract: "Run the cribo tools end to end from a YAML configuration (safe under cron).",
        discussion: """
            Exit status: 0 done (or up to date); 1 a stage failed (the last line names it and its log); 64 bad \
            command line; 65 invalid configuration; 66 missing input (configuration, archive, raw folder, stage \
            input, tool); 73 cannot create an output; 75 another run of the same pipeline holds its lock (try \
            later); 128+N stopped by signal N.
            """,
        subcommands: [Run.self, Status.self])
}

/// Options shared by `run` and `status`.
struct ConfigurationArguments: ParsableArguments {
    @Argument(help: "The pipeline configuration (YAML), e.g. pipelines/demo.yaml.") var config: String
    @Option(help: "Data root (default: the configuration's data_root).") var dataRoot: String?
    @Option(name: .customLong("set"), help: "Override a configuration value, e.g. --set pretrain.epochs=2 (repeatable).")
    var overrides: [String] = []

    /// The configuration and its folders; exits with one line on error.
    func load() -> (PipelineConfiguration, PipelinePaths) {
        do {
            let configuration = try PipelineConfiguration.load(path: config, overrides: overrides)
            return (configuration, configuration.paths(dataRootOverride: dataRoot))
        } catch let error as PipelineError {
            fail(error.description, code: error.exitCode)
        } catch {
            fail("\(error)", code: PipelineExitCode.invalidConfiguration)
        }
    }
}

/// Prints `message` as one line on standard error and exits with `code`.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("cribo-pipeline: \(message)\n".utf8))
    exit(code)
}

extension CriboPipelineTool {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the stages that are not up to date.",
            discussion: """
                Stage logs go to <runs>/<name>/logs/<stage>.log, stage records to stages/<stage>.json, one line per \
                run to history.jsonl. SIGINT/SIGTERM stop the running tool and leave earlier outputs intact.
                """)
        @OptionGroup var arguments: ConfigurationArguments
        @Option(help: "Folder of the cribo tools (default: this executable's folder).") var bin: String?
        @Flag(help: "Re-read every file to hash it (default: files whose size and modification time are unchanged keep their hash).")
        var rehash = false

        func run() throws {
            let (configuration, paths) = arguments.load()
            let tools = bin ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
            setvbuf(stdout, nil, _IOLBF, 0)
            let runner = PipelineRunner(
                configuration: configuration, paths: paths, toolFolder: tools, executor: ProcessExecutor(),
                hasher: FileHasher(rehashes: rehash)) { print($0) }
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { runner.interrupt(signal: signalNumber) }
                source.resume()
                sources.append(source)
            }
            let outcome = runner.run()
            sources.forEach { $0.cancel() }
            if let error = outcome.error, outcome.record == nil { fail(error.description, code: outcome.exitCode) }
            if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
            for table in outcome.comparisons {
                print("\n" + ((try? String(contentsOfFile: table, encoding: .utf8)) ?? ""))
                print("reports: \(paths.run)/reports (report.md, report.json and PNG figures per evaluation); this table: \(table)")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each stage's state and the last run (reads only; takes no lock).")
        @OptionGroup var arguments: ConfigurationArguments

        func run() throws {
            let (configuration, paths) = arguments.load()
            let status = PipelineStatus(configuration: configuration, paths: paths)
            do {
                for line in try status.lines() { print(line) }
            } catch let error as PipelineError {
                fail(error.description, code: error.exitCode)
            }
        }
    }
}
