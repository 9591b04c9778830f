// The settings of an executable written once: name (the command-line option), environment variable, help and
// validation, with the default read from the configuration type itself. ofad and ofa-web resolve them the same way:
// the command line wins over the environment, which wins over the default; an empty variable counts as unset.
import Logging

/// One setting of `Configuration`.
public struct Setting<Configuration>: Sendable {
    /// The long option, without dashes ("max-text-length").
    public let name: String
    /// The environment variable ("OFAD_MAX_TEXT_LENGTH").
    public let environment: String
    public let summary: String
    /// Parses and checks a value, and stores it; throws `SettingError.invalid` naming the setting.
    let apply: @Sendable (inout Configuration, String) throws -> Void
    /// The value of a configuration as text (for the default in help).
    let show: @Sendable (Configuration) -> String

    /// `parse` turns text into the value (throwing `SettingValueError` with the reason); it is stored at `keyPath`.
    public init<Value>(
        _ name: String, environment: String, _ keyPath: WritableKeyPath<Configuration, Value>,
        summary: String, parse: @escaping @Sendable (String) throws -> Value,
        show: @escaping @Sendable (Value) -> String = { "\($0)" }
    ) {
        self.name = name
        self.environment = environment
        self.summary = summary
        self.apply = { configuration, text in configuration[keyPath: keyPath] = try parse(text) }
        self.show = { show($0[keyPath: keyPath]) }
    }

    /// "Engine threads, 0 = one per core. [OFAD_THREADS; 0]" with the default of `defaults`.
    public func help(defaults: Configuration) -> String {
        let value = show(defaults)
        return "\(summary) [\(environment); \(value.isEmpty ? "none" : value)]"
    }
}

/// Why a value was refused, without naming the setting (the table adds the name).
public struct SettingValueError: Error, Equatable, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

public enum SettingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `source` is "--name" or "ENVIRONMENT".
    case invalid(name: String, source: String, value: String, reason: String)
    case unknown(String)
    /// Settings that are each valid but not together.
    case conflict(String)

    public var description: String {
        switch self {
        case .invalid(let name, let source, let value, let reason):
            return source.hasPrefix("--")
                ? "invalid --\(name) \(value.debugDescription): \(reason)"
                : "invalid --\(name) (from \(source)=\(value)): \(reason)"
        case .unknown(let name): return "unknown setting \(name)"
        case .conflict(let reason): return reason
        }
    }
}

/// All settings of one executable.
public struct SettingsTable<Configuration: Sendable>: Sendable {
    public let settings: [Setting<Configuration>]
    /// The configuration every default is read from.
    public let defaults: Configuration
    let check: @Sendable (Configuration) throws -> Void

    /// `check` runs on the resolved configuration (settings that depend on each other); a SettingValueError it throws
    /// becomes `SettingError.conflict`.
    public init(
        defaults: Configuration, _ settings: [Setting<Configuration>],
        check: @escaping @Sendable (Configuration) throws -> Void = { _ in }
    ) {
        self.defaults = defaults
        self.settings = settings
        self.check = check
    }

    public func setting(_ name: String) -> Setting<Configuration> {
        guard let setting = settings.first(where: { $0.name == name }) else {
            preconditionFailure("no setting \(name)")
        }
        return setting
    }

    /// Help text of one setting, with its variable and default.
    public func help(_ name: String) -> String { setting(name).help(defaults: defaults) }

    /// Defaults, then the environment, then the command line (`given`: option name → value as typed).
    public func resolve(commandLine given: [String: String], environment: [String: String]) throws -> Configuration {
        var configuration = defaults
        for setting in settings {
            if let text = environment[setting.environment], !text.isEmpty {
                try apply(setting, text, source: setting.environment, to: &configuration)
            }
        }
        for (name, text) in given.sorted(by: { $0.key < $1.key }) {
            guard let setting = settings.first(where: { $0.name == name }) else { throw SettingError.unknown(name) }
            try apply(setting, text, source: "--" + name, to: &configuration)
        }
        do {
            try check(configuration)
        } catch let error as SettingValueError {
            throw SettingError.conflict(error.reason)
        }
        return configuration
    }

    private func apply(
        _ setting: Setting<Configuration>, _ text: String, source: String, to configuration: inout Configuration
    )
        throws
    {
        do {
            try setting.apply(&configuration, text)
        } catch let error as SettingValueError {
            throw SettingError.invalid(name: setting.name, source: source, value: text, reason: error.reason)
        }
    }
}

/// Parsers for the common kinds of value.
public enum SettingParser {
    public static func integer(minimum: Int, maximum: Int = Int.max) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text.trimmingWhitespace), value >= minimum, value <= maximum else {
                throw SettingValueError(
                    maximum == Int.max
                        ? "not a whole number ≥ \(minimum)" : "not a whole number in \(minimum)…\(maximum)")
            }
            return value
        }
    }

    public static let seconds: @Sendable (String) throws -> Double = { text in
        guard let value = Double(text.trimmingWhitespace), value > 0, value.isFinite else {
            throw SettingValueError("not a positive number of seconds")
        }
        return value
    }

    /// A number from 0 to 1.
    public static let fraction: @Sendable (String) throws -> Double = { text in
        guard let value = Double(text.trimmingWhitespace), value >= 0, value <= 1 else {
            throw SettingValueError("not a number from 0 to 1")
        }
        return value
    }

    public static let flag: @Sendable (String) throws -> Bool = { text in
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw SettingValueError("not one of 1, true, yes, on, 0, false, no, off")
        }
    }

    public static let text: @Sendable (String) throws -> String = { $0 }

    /// A swift-log level name, kept as text.
    public static let logLevel: @Sendable (String) throws -> String = { text in
        guard Logger.Level(rawValue: text) != nil else { throw SettingValueError("not a log level") }
        return text
    }

    /// A number as help shows it: 60 rather than 60.0.
    public static let number: @Sendable (Double) -> String = { value in
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A value of a string enum.
    public static func choice<T: RawRepresentable & CaseIterable & Sendable>(_ type: T.Type)
        -> @Sendable (String)
        throws -> T where T.RawValue == String
    {
        { text in
            guard let value = T(rawValue: text) else {
                throw SettingValueError("not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return value
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
