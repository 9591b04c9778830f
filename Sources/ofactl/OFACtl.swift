// ofactl: command-line client of ofad. One root command; one file per subcommand.
import ArgumentParser

@main
struct OFACtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ofactl",
        abstract: "Ask a running ofad about images and sentences.",
        discussion: """
            The socket comes from --socket, else $OFAD_SOCKET, else /run/ofad/ofad.sock. Images are read here \
            and sent as bytes.

            Exit codes:
              0   success
              1   the daemon answered with an error (batch: at least one line did)
              2   no connection to the daemon, or it broke off
              3   the daemon is not ready (health, health --wait)
              4   a local file could not be read or written
              64  wrong usage
            """,
        subcommands: [
            Predict.self, Attention.self, Heatmap.self, Grid.self, Animate.self, Stats.self, Relevance.self,
            Faithfulness.self, Status.self, Health.self, Metrics.self, Call.self, Batch.self,
        ])
}
