import ScepterProtocol
import Testing
@testable import scepter

/// The log variables, read by this target before any role's loader, against `KnownVariables`.
@Suite("Known variables: the log settings as LogSetup reads them")
struct LogSetupVariablesTests {
    @Test("SCEPTER_LOG_LEVEL is read without a _FILE variant and SCEPTER_LOG_FORMAT with one, as the catalog says")
    func logVariablesAreCatalogued() {
        let log = Settings.ReadLog()
        Settings.$readLog.withValue(log) {
            var settings = Settings(environment: ["SCEPTER_LOG_LEVEL": "debug", "SCEPTER_LOG_FORMAT": "json"])
            _ = LogSetup.Options.load(&settings)
        }
        #expect(log.read == ["SCEPTER_LOG_LEVEL": false, "SCEPTER_LOG_FORMAT": true])
        for (name, withFile) in log.read {
            let setting = KnownVariables.globals.first { $0.name == name }
            #expect(setting?.acceptsFile == withFile, "\(name)")
        }
    }
}
