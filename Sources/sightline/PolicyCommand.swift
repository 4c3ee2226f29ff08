import Foundation
import SightlinePolicyYAML

/// `sightline policy check FILE`: validates a back-pressure policy file and prints the
/// effective policy (defaults filled in). Returns 0 when valid, 1 with the error (file,
/// line, field, reason) on standard error otherwise.
func runPolicyCheck(arguments: [String]) throws -> Int32 {
    let parsed = try CommandArguments(arguments, switchNames: [], valueNames: [])
    guard parsed.positional.count == 1, let path = parsed.positional.first else {
        throw UsageError(message: "policy check needs exactly one FILE\n\(policyCheckUsage)")
    }

    do {
        let policy = try PolicyFile.load(path: path)
        print("# \(path): valid; the effective policy, defaults included:")
        print(PolicyFile.render(policy), terminator: "")
        return 0
    } catch {
        SightlineCommand.printError("sightline policy check: \(error)")
        return 1
    }
}

let policyCheckUsage = """
    usage: sightline policy check FILE
      Validates a back-pressure policy file (YAML) and prints the effective policy.
      Exits 0 when valid, 1 with file:line: field: reason when not.
    """
